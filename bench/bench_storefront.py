"""The storefront as a shopper gets it, in Chromium: image bytes, LCP and layout shift.

    uv run python bench/bench_storefront.py [--photos 24] [--megapixels 12] [--repeat 3]

A fresh Ceph gateway (S3 mode), PostgreSQL and the app under gunicorn; ``--photos``
products, each with a phone-like JPEG of ``--megapixels`` (a different one each),
whose AVIF and WebP renditions a real ``run_worker`` makes before anything is
measured. Then the catalog page ``/`` is loaded by Debian's Chromium in a fresh
context with the cache disabled, and scrolled to the end so every lazy image loads:

- a phone: 390 px wide, device pixel ratio 3, mobile, its network throttled through
  the DevTools protocol (1.6 Mbit/s down, 750 kbit/s up, 150 ms latency);
- a desktop: 1280x800, device pixel ratio 1, unthrottled.

For each: the image bytes downloaded (encoded bodies of the page's image responses,
from the protocol's ``Network.loadingFinished``) as a share of the originals' bytes,
the Largest Contentful Paint (read before scrolling) and the cumulative layout shift
(after scrolling to the end). The goals are judged on the page as served.

The baseline, measured in the same run: the same page with its AVIF ``<source>``
elements removed, so the browser takes the WebP ones. The HTML is rewritten by a
small proxy in front of the app, not by intercepting requests in the browser: with
Playwright's ``page.route`` (or the protocol's ``Fetch`` domain) active, this Chromium
neither throttles nor reports the page's cross-origin image requests, which would void
both the bytes and the LCP. "AVIF + WebP / WebP only" compares the page through the
same proxy unchanged with the rewritten one; images come from the bucket either way.

Then each rendition's closeness to the original: SSIM (scikit-image) of the AVIF and
the WebP of each width against the original resized to that width (LANCZOS).
"""

from __future__ import annotations

import argparse
import http.client
import io
import re
import shutil
import statistics
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common import postgres_database, report, start_gateway, workdir

from tests.support.app_server import AppServer, WorkerProcess, app_env, manage
from tests.support.browser import PAGE_ENV
from tests.support.images import phone_photo
from tests.support.multipart import request

CHROMIUM = "/usr/bin/chromium"
CREATE_STAFF = """
from django.contrib.auth import get_user_model
from knox.models import AuthToken
user = get_user_model().objects.create_user("staff", password="bench-pw-staff", is_staff=True)
print("TOKEN", AuthToken.objects.create(user=user)[1])
"""
#: Collected from the start of each page: LCP candidates and layout shifts.
OBSERVE = """
window.lcp = [];
window.shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    window.lcp.push({
      time: entry.startTime,
      element: entry.element ? entry.element.tagName : "",
      url: entry.url,
    });
  }
}).observe({ type: "largest-contentful-paint", buffered: true });
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (!entry.hadRecentInput) window.shifts.push(entry.value);
  }
}).observe({ type: "layout-shift", buffered: true });
"""
SCROLL_TO_END = """async () => {
  const pause = () => new Promise((resolve) => setTimeout(resolve, 150));
  for (let y = 0; y < document.documentElement.scrollHeight; y += window.innerHeight / 2) {
    window.scrollTo(0, y);
    await pause();
  }
  window.scrollTo(0, document.documentElement.scrollHeight);
  await pause();
}"""
ALL_IMAGES_LOADED = "() => [...document.images].every((i) => i.complete)"
AFTER_TWO_FRAMES = (
    "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())))"
)
AVIF_SOURCE = re.compile(r'<source type="image/avif"[^>]*>')

KBIT = 1000 / 8  # bytes per second in one kbit/s


@dataclass(frozen=True)
class Device:
    name: str
    context: dict
    throttle: dict | None = None


PHONE = Device(
    "phone",
    {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 3,
        "is_mobile": True,
        "has_touch": True,
    },
    {
        "offline": False,
        "latency": 150,
        "downloadThroughput": 1600 * KBIT,
        "uploadThroughput": 750 * KBIT,
    },
)
DESKTOP = Device("desktop", {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1})

#: How the page reaches the browser: as served, or through a proxy that hands it on
#: unchanged, or through one that removes the AVIF sources (the WebP-only baseline).
VARIANTS = ("served", "proxied", "webp only")


class PageProxy(ThreadingHTTPServer):
    """Forwards GETs to the app; with ``strip_avif``, HTML loses its AVIF ``<source>``s."""

    daemon_threads = True

    def __init__(self, upstream_port: int, *, strip_avif: bool) -> None:
        self.upstream_port = upstream_port
        self.strip_avif = strip_avif
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class ProxyHandler(BaseHTTPRequestHandler):
    server: PageProxy
    protocol_version = "HTTP/1.1"
    HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}

    def do_GET(self) -> None:
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in self.HOP_BY_HOP}
        upstream.request("GET", self.path, headers=headers)
        response = upstream.getresponse()
        body = response.read()
        upstream.close()
        if self.server.strip_avif and "text/html" in response.getheader("Content-Type", ""):
            body = AVIF_SOURCE.sub("", body.decode()).encode()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in self.HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Visit:
    image_bytes: int
    lcp: float
    lcp_element: str
    cls: float
    formats: dict[str, int] = field(default_factory=dict)


def visit(browser, url: str, gateway_url: str, device: Device) -> Visit:
    """One shopper's visit to ``url`` in a fresh context with the cache disabled."""
    context = browser.new_context(**device.context)
    page = context.new_page()
    page.add_init_script(OBSERVE)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    if device.throttle:
        cdp.send("Network.emulateNetworkConditions", device.throttle)
    headers: dict[str, tuple[int, str]] = {}  # request id -> (header bytes, content type)
    bodies: dict[str, int] = {}

    def received(event: dict) -> None:
        response = event["response"]
        if event["type"] == "Image" and response["url"].startswith(gateway_url):
            headers[event["requestId"]] = (response["encodedDataLength"], response["mimeType"])

    def finished(event: dict) -> None:
        if event["requestId"] in headers:
            header_bytes = headers[event["requestId"]][0]
            bodies[event["requestId"]] = int(event["encodedDataLength"]) - header_bytes

    cdp.on("Network.responseReceived", received)
    cdp.on("Network.loadingFinished", finished)
    page.goto(url, wait_until="load", timeout=300_000)
    page.wait_for_function(
        "() => document.images.length > 0 && document.images[0].complete", timeout=300_000
    )
    page.evaluate(AFTER_TWO_FRAMES)
    candidates = page.evaluate("window.lcp")
    page.evaluate(SCROLL_TO_END)
    page.wait_for_function(ALL_IMAGES_LOADED, timeout=600_000, polling=250)
    page.evaluate(AFTER_TWO_FRAMES)
    deadline = time.monotonic() + 10
    while set(bodies) != set(headers) and time.monotonic() < deadline:
        page.wait_for_timeout(100)  # the last loadingFinished events
    shifts = page.evaluate("window.shifts")
    count = page.evaluate("document.images.length")
    context.close()
    assert len(bodies) >= count, (len(bodies), count)
    last = candidates[-1]
    formats: dict[str, int] = {}
    for _, content_type in headers.values():
        formats[content_type] = formats.get(content_type, 0) + 1
    return Visit(
        image_bytes=sum(bodies.values()),
        lcp=last["time"] / 1000,
        lcp_element=last["element"] + (" " + last["url"].rsplit("_", 1)[-1] if last["url"] else ""),
        cls=sum(shifts),
        formats=formats,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--megapixels", type=float, default=12)
    parser.add_argument("--repeat", type=int, default=3, help="visits per device and variant")
    args = parser.parse_args()
    if not shutil.which(CHROMIUM):
        raise SystemExit("Debian's chromium is not installed (make system-packages installs it)")
    tmp = workdir()
    gateway = start_gateway(tmp)
    database = postgres_database(tmp)
    processes: list[AppServer | WorkerProcess] = []
    try:
        from media_store.storage.bucket import apply_public_read_policy

        bucket = gateway.new_bucket()
        apply_public_read_policy(gateway.client(), bucket)
        env = app_env(database.url, gateway, bucket, LOG_LEVEL="ERROR", CONN_MAX_AGE="60")
        for command in (("migrate", "--noinput"), ("shell", "-c", CREATE_STAFF)):
            done = manage(env, *command)
            assert done.returncode == 0, done.stderr
        token = done.stdout.split("TOKEN ", 1)[1].split()[0]
        server = AppServer(env={**env, **PAGE_ENV}, workdir=tmp / "web")
        processes.append(server.start(collectstatic=True))

        products, originals = create_products(server, token, args.photos, args.megapixels)
        worker = WorkerProcess(env=env, workdir=tmp / "worker").start()
        processes.append(worker)
        started = time.perf_counter()
        products = wait_for_renditions(server, len(products))
        made = time.perf_counter() - started
        worker.stop()
        total = sum(len(data) for data in originals)
        rows = [
            (
                "catalog",
                f"{len(products)} products, each a {args.megapixels:g} MP JPEG; originals "
                f"{total / 1e6:.1f} MB in all ({total / len(originals) / 1e6:.2f} MB each); "
                f"renditions made by one worker in {made:.0f} s",
            )
        ]
        rows += browser_rows(server, gateway.endpoint_url, total, args.repeat)
        rows += ssim_rows(products, originals)
        report("Storefront in Chromium", rows)
    finally:
        for process in processes:
            process.kill()
        database.drop()
        if gateway.env is not None:
            gateway.ceph("stop")


def create_products(
    server: AppServer, token: str, count: int, megapixels: float
) -> tuple[list[dict], list[bytes]]:
    height = round((megapixels * 1e6 * 3 / 4) ** 0.5)
    size = (height * 4 // 3, height)
    products, originals = [], []
    for index in range(count):
        # Upright (orientation 1), so the stored original keeps the uploaded pixels.
        data = phone_photo(size=size, orientation=1, seed=100 + index)
        created = request(
            "POST",
            server.url("/api/core/products/"),
            token=token,
            fields={"name": f"Print {index + 1:02d}", "price": f"{10 + index}.00"},
            files=[("image", f"print-{index + 1:02d}.jpg", data, "image/jpeg")],
            timeout=120,
        )
        assert created.status == 201, created.body
        products.append(created.json())
        originals.append(data)
    return products, originals


def wait_for_renditions(server: AppServer, count: int, timeout: float = 1800) -> list[dict]:
    """The products, oldest first, once every rendition of every image is ready."""
    deadline = time.monotonic() + timeout
    while True:
        listed = request("GET", server.url("/api/core/products/?page_size=100")).json()
        products = sorted(listed["results"], key=lambda product: product["id"])
        states = [r["state"] for p in products for r in p["image"]["renditions"]]
        assert "failed" not in states, states
        if len(products) == count and states and all(state == "ready" for state in states):
            return products
        if time.monotonic() > deadline:
            raise RuntimeError(f"renditions not ready: {states}")
        time.sleep(1)


def browser_rows(
    server: AppServer, gateway_url: str, originals: int, repeat: int
) -> list[tuple[str, str]]:
    from playwright.sync_api import sync_playwright

    urls = {
        "served": server.url("/"),
        "proxied": PageProxy(server.port, strip_avif=False).url("/"),
        "webp only": PageProxy(server.port, strip_avif=True).url("/"),
    }

    results: dict[tuple[str, str], list[Visit]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        visit(browser, urls["served"], gateway_url, DESKTOP)  # warm-up: server and gateway
        for _ in range(repeat):  # interleaved, so drift hits every variant alike
            for device in (PHONE, DESKTOP):
                for variant in VARIANTS:
                    results.setdefault((device.name, variant), []).append(
                        visit(browser, urls[variant], gateway_url, device)
                    )
        version = browser.version
        browser.close()

    def summary(device: str, variant: str) -> tuple[float, float, float, Visit]:
        visits = results[(device, variant)]
        return (
            statistics.median(v.image_bytes for v in visits),
            statistics.median(v.lcp for v in visits),
            max(v.cls for v in visits),
            visits[0],
        )

    rows = [("browser", f"Chromium {version}, {repeat} visits per line, medians")]
    for device in (PHONE, DESKTOP):
        served_bytes, served_lcp, served_cls, first = summary(device.name, "served")
        proxied_bytes, proxied_lcp, _, _ = summary(device.name, "proxied")
        webp_bytes, webp_lcp, webp_cls, webp_first = summary(device.name, "webp only")
        formats = ", ".join(f"{n} {t}" for t, n in sorted(first.formats.items()))
        webp_formats = ", ".join(f"{n} {t}" for t, n in sorted(webp_first.formats.items()))
        share = served_bytes / originals
        label = f"{device.name}: image bytes, AVIF + WebP (as served)"
        if device is PHONE:
            label += " (goal <= 4.5% of the originals)"
            verdict = "met" if share <= 0.045 else "not met"
            share_text = f"**{share:.2%}**, {verdict}"
        else:
            share_text = f"{share:.2%}"
        rows += [
            (label, f"{share_text} ({served_bytes / 1e6:.2f} MB: {formats})"),
            (
                f"{device.name}: image bytes, WebP only (baseline)",
                f"{webp_bytes / originals:.2%} ({webp_bytes / 1e6:.2f} MB: {webp_formats})",
            ),
            (
                f"{device.name}: image bytes, AVIF + WebP / WebP only",
                f"{proxied_bytes / webp_bytes:.2f}x",
            ),
        ]
        lcp_label = f"{device.name}: LCP, as served"
        lcp_text = f"{served_lcp:.2f} s ({first.lcp_element})"
        if device is PHONE:
            lcp_label += " (goal <= 0.5 s)"
            verdict = "met" if served_lcp <= 0.5 else "not met"
            lcp_text = f"**{served_lcp:.2f} s**, {verdict} ({first.lcp_element})"
        rows += [
            (lcp_label, lcp_text),
            (
                f"{device.name}: LCP, AVIF + WebP / WebP only (both through the proxy)",
                f"{proxied_lcp / webp_lcp:.2f}x ({proxied_lcp:.2f} s vs {webp_lcp:.2f} s)",
            ),
            (
                f"{device.name}: layout shift, worst visit (goal 0)",
                f"**{served_cls:.4f}**, {'met' if served_cls == 0 else 'not met'}"
                f" (WebP only: {webp_cls:.4f})",
            ),
        ]
    return rows


def ssim_rows(products: list[dict], originals: list[bytes]) -> list[tuple[str, str]]:
    import numpy
    from PIL import Image
    from skimage.metrics import structural_similarity

    # width -> format -> (ssim values, byte counts)
    scores: dict[int, dict[str, tuple[list[float], list[int]]]] = {}
    avif_closer: dict[int, int] = {}
    for product, data in zip(products, originals, strict=True):
        original = Image.open(io.BytesIO(data)).convert("RGB")
        by_width: dict[int, dict[str, dict]] = {}
        for rendition in product["image"]["renditions"]:
            fmt = rendition["content_type"].split("/")[1]
            by_width.setdefault(rendition["width"], {})[fmt] = rendition
        for width, renditions in sorted(by_width.items()):
            height = renditions["webp"]["height"]
            reference = numpy.asarray(
                original.resize((width, height), Image.Resampling.LANCZOS), dtype=numpy.uint8
            )
            ssim = {}
            for fmt, rendition in renditions.items():
                with urllib.request.urlopen(rendition["url"], timeout=60) as response:
                    encoded = response.read()
                decoded = Image.open(io.BytesIO(encoded)).convert("RGB")
                assert decoded.size == (width, height), (decoded.size, width, height)
                ssim[fmt] = structural_similarity(
                    reference, numpy.asarray(decoded), channel_axis=2, data_range=255
                )
                values, sizes = scores.setdefault(width, {}).setdefault(fmt, ([], []))
                values.append(ssim[fmt])
                sizes.append(len(encoded))
            if "avif" in ssim:  # none where it would not have been smaller
                avif_closer[width] = avif_closer.get(width, 0) + (ssim["avif"] >= ssim["webp"])
        original.close()
    rows = []
    for width, formats in sorted(scores.items()):
        if "avif" not in formats:
            webp, webp_sizes = formats["webp"]
            rows.append(
                (
                    f"{width} px: SSIM AVIF vs WebP (goal: each AVIF >= its WebP); mean bytes",
                    f"no AVIF made (not smaller than WebP for any photo); WebP SSIM "
                    f"{statistics.mean(webp):.4f}, {statistics.mean(webp_sizes) / 1e3:.1f} KB",
                )
            )
            continue
        (avif, avif_sizes), (webp, webp_sizes) = formats["avif"], formats["webp"]
        avif_bytes, webp_bytes = statistics.mean(avif_sizes), statistics.mean(webp_sizes)
        closer = avif_closer[width]
        verdict = "met" if closer == len(avif) else "not met"
        rows.append(
            (
                f"{width} px: SSIM AVIF vs WebP (goal: each AVIF >= its WebP); mean bytes",
                f"{statistics.mean(avif):.4f} vs {statistics.mean(webp):.4f}, "
                f"AVIF >= WebP in {closer} of {len(avif)}: {verdict}; "
                f"{avif_bytes / 1e3:.1f} KB vs {webp_bytes / 1e3:.1f} KB "
                f"({avif_bytes / webp_bytes:.2f}x)",
            )
        )
    return rows


if __name__ == "__main__":
    main()
