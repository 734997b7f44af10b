// Order form: images go straight to the bucket (a presigned POST or PUT, as the server's
// grant says) with a progress bar, then the order is created from the upload ids.
// Without S3 (development; the page says so in data-direct-uploads), the files are
// posted to the API instead, with the same progress bar.
// Large photos are downscaled in the browser first (see lighter()).
// Each submission carries an Idempotency-Key. A retry of the same submission (after
// a network error, or a second click) sends the same key and the same uploads, so
// the server creates the order once; changing the form starts a new submission.
(function () {
  "use strict";
  const form = document.getElementById("order-form");
  if (!form) return;
  const progress = document.getElementById("progress");
  const progressText = document.getElementById("progress-text");
  const errorBox = document.getElementById("order-error");
  const statusBox = document.getElementById("order-status");
  const result = document.getElementById("order-result");
  const button = form.querySelector("button[type=submit]");
  const ordersList = document.getElementById("orders");
  let submission = null; // {key, files, uploads}: kept until the order is placed or the form changes
  let busy = false;
  form.addEventListener("input", () => { submission = null; });
  form.addEventListener("change", () => { submission = null; });

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function showError(message) {
    statusBox.textContent = ""; // not "Checking images…" under an error
    errorBox.textContent = message;
    errorBox.hidden = false;
    progress.classList.add("failed"); // not a full blue bar beside an error
    progressText.textContent = "failed";
  }

  function setProgress(fraction) {
    progress.classList.remove("failed");
    const percent = Math.min(100, Math.round(fraction * 100));
    progress.value = percent;
    progressText.textContent = percent + "%";
  }

  // What the form calls the API's fields.
  const LABELS = { lines: "Product and quantity", quantity: "Quantity", product: "Product", note: "Note", images: "Images", uploads: "Images" };

  function messages(value) { // DRF's field errors nest: {"lines": {"0": {"quantity": ["..."]}}}
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value.flatMap(messages);
    if (value && typeof value === "object") return Object.values(value).flatMap(messages);
    return [];
  }

  function apiMessage(body, fallback) {
    if (!body) return fallback;
    if (body.detail) return body.detail;
    const first = Object.entries(body)[0];
    if (first) return (LABELS[first[0]] || first[0]) + ": " + messages(first[1]).join(" ");
    return fallback;
  }

  async function api(url, payload, extraHeaders) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: Object.assign(
        { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
        extraHeaders || {},
      ),
      body: JSON.stringify(payload),
    });
    const body = await response.json().catch(() => null);
    return { status: response.status, body: body };
  }

  // XMLHttpRequest, because fetch() cannot report upload progress.
  function send(method, url, body, onProgress, headers) {
    return new Promise(function (resolve, reject) {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      Object.entries(headers || {}).forEach(([name, value]) => xhr.setRequestHeader(name, value));
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
      xhr.addEventListener("load", () => resolve(xhr));
      xhr.addEventListener("error", () => reject(new Error("The upload was interrupted (network or CORS). Please try again.")));
      xhr.send(body);
    });
  }

  function bucketError(xhr) {
    const doc = xhr.responseXML || new DOMParser().parseFromString(xhr.responseText || "", "application/xml");
    const code = doc.querySelector("Code");
    const message = doc.querySelector("Message");
    const text = (code ? code.textContent : "HTTP " + xhr.status) + (message && message.textContent ? ": " + message.textContent : "");
    return "The storage refused the file (" + text + ").";
  }

  // Some browsers give HEIC photos no MIME type: use the one the server's format table
  // names for the file's extension (the server checks the bytes anyway).
  const typesByExtension = JSON.parse(form.dataset.typesByExtension || "{}");
  function contentType(file) {
    if (file.type) return file.type;
    const dot = file.name.lastIndexOf(".");
    const extension = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
    return typesByExtension[extension] || "application/octet-stream";
  }

  // Light uploads: a phone photo has 12 MP or more, but the server keeps an order photo
  // at most data-max-dimension pixels on its longest side and throws the rest away.
  // Downscaling here first sends a fraction of the bytes (a quarter or less), which is
  // what makes an order with several photos quick on a phone's upload link. Only photos
  // are redrawn (JPEG, still WebP, HEIC where the browser decodes it); PNG, GIF and
  // animations go as they are, and so does any file the browser cannot decode, that
  // already fits, or that would not get smaller.
  const maxDimension = Number(form.dataset.maxDimension) || Infinity; // none given: no downscale
  const PHOTOS = ["image/jpeg", "image/webp", "image/heic", "image/heif"];

  async function lighter(file) {
    const type = contentType(file);
    if (!PHOTOS.includes(type) || (type === "image/webp" && (await animatedWebp(file)))) return file;
    let bitmap = null;
    try {
      // "from-image" applies the EXIF orientation: the pixels drawn are upright, and
      // the new file carries no metadata that could turn them again.
      bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
      const scale = maxDimension / Math.max(bitmap.width, bitmap.height);
      if (scale >= 1) return file;
      const width = Math.max(1, Math.round(bitmap.width * scale));
      const height = Math.max(1, Math.round(bitmap.height * scale));
      // WebP may have transparency, which JPEG would lose: it stays WebP.
      const blob = await redraw(bitmap, width, height, type === "image/webp" ? "image/webp" : "image/jpeg");
      if (!blob || blob.size >= file.size) return file;
      // The blob's own type: a browser that cannot write the one asked for writes PNG.
      return new File([blob], renamed(file.name, blob.type), { type: blob.type, lastModified: file.lastModified });
    } catch (error) {
      return file; // not decodable here (HEIC in Chromium, a damaged file): the server judges it
    } finally {
      if (bitmap) bitmap.close();
    }
  }

  async function redraw(bitmap, width, height, type) {
    const canvas = typeof OffscreenCanvas === "function"
      ? new OffscreenCanvas(width, height)
      : Object.assign(document.createElement("canvas"), { width: width, height: height });
    const context = canvas.getContext("2d");
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, width, height);
    if (canvas.convertToBlob) return canvas.convertToBlob({ type: type, quality: 0.9 });
    return new Promise((resolve) => canvas.toBlob(resolve, type, 0.9));
  }

  async function animatedWebp(file) { // the VP8X header's animation flag
    const head = new Uint8Array(await file.slice(0, 21).arrayBuffer());
    return String.fromCharCode(...head.slice(12, 16)) === "VP8X" && (head[20] & 0x02) !== 0;
  }

  function renamed(name, type) { // photo.heic -> photo.jpg; photo.jpeg stays photo.jpeg
    const dot = name.lastIndexOf(".");
    const base = dot > 0 ? name.slice(0, dot) : name;
    if (dot > 0 && typesByExtension[name.slice(dot).toLowerCase()] === type) return name;
    return base + (Object.keys(typesByExtension).find((ext) => typesByExtension[ext] === type) || "");
  }

  async function lighterAll(files) { // one at a time: a decoded 12 MP photo holds 48 MB
    const sent = [];
    for (const file of files) sent.push(await lighter(file));
    return sent;
  }

  async function uploadDirect(files, tracker) {
    const ids = [];
    for (const [index, file] of files.entries()) {
      const grant = await api("/api/media/uploads/", {
        purpose: "order", content_type: contentType(file), size: file.size, filename: file.name,
      });
      if (grant.status !== 201) throw new Error(file.name + ": " + apiMessage(grant.body, "upload refused"));
      const progress = (fraction) => tracker(index, fraction);
      let xhr;
      if (grant.body.method === "PUT") {
        // The file is the body; the signed headers go as given (the browser sets Content-Length).
        xhr = await send("PUT", grant.body.url, file, progress, grant.body.headers);
      } else {
        const data = new FormData();
        Object.entries(grant.body.fields).forEach(([name, value]) => data.append(name, value));
        data.append("file", file); // must be the last field of a presigned POST
        xhr = await send("POST", grant.body.url, data, progress);
      }
      if (xhr.status < 200 || xhr.status >= 300) throw new Error(file.name + ": " + bucketError(xhr));
      tracker(index, 1);
      ids.push(grant.body.id);
    }
    return ids;
  }

  function orderImage(item, className) {
    const img = document.createElement("img");
    img.src = item.image.url;
    img.alt = item.image.name;
    img.width = item.image.width;
    img.height = item.image.height;
    if (className) img.className = className;
    return img;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // The new order goes to the top of "Your orders" (once, even when replayed), as the
  // page draws them: status, lines, total, note, images.
  function listOrder(order) {
    if (!ordersList || ordersList.querySelector('[data-order="' + order.id + '"]')) return;
    ordersList.querySelectorAll("li:not([data-order])").forEach((empty) => empty.remove());
    const item = element("li", "card order");
    item.dataset.order = order.id;
    const lines = element("ul", "lines");
    order.lines.forEach((line) => lines.appendChild(element(
      "li", "", line.quantity + " × " + line.product_name + " at " + line.unit_price + " " + order.currency,
    )));
    const thumbs = element("div", "thumbs");
    order.images.forEach((image) => thumbs.appendChild(orderImage(image)));
    item.append(
      element("strong", "", "Order #" + order.id), " · ", element("span", "status", order.status_display),
      lines, element("p", "total", "Total: " + order.total + " " + order.currency),
    );
    if (order.note) item.appendChild(element("p", "note", order.note));
    item.appendChild(thumbs);
    ordersList.prepend(item);
  }

  function showOrder(order) {
    statusBox.textContent = "Order #" + order.id + " placed.";
    result.replaceChildren(...order.images.map((item) => orderImage(item, "order-image")));
    listOrder(order);
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (busy) return; // a second click while the first submission runs
    errorBox.hidden = true;
    statusBox.textContent = "";
    result.replaceChildren(); // the last order's images belong to the last order
    const chosen = Array.from(form.elements.images.files);
    const maxFiles = Number(form.dataset.maxFiles);
    const maxBytes = Number(form.dataset.maxBytes);
    if (!chosen.length) return showError("Choose at least one image.");
    if (chosen.length > maxFiles) return showError("At most " + maxFiles + " images per order.");

    const lines = [{ product: Number(form.elements.product.value), quantity: Number(form.elements.quantity.value) }];
    const note = form.elements.note.value;
    setProgress(0);
    button.disabled = true;
    busy = true;
    if (!submission) submission = { key: newKey(), files: null, uploads: null };
    const current = submission; // the form may change (and drop it) while this one runs
    const idempotency = { "Idempotency-Key": current.key };
    try {
      if (!current.files) {
        // Kept with the submission: a retry sends the very same bytes under the same key.
        statusBox.textContent = "Preparing images…";
        current.files = await lighterAll(chosen);
        statusBox.textContent = "";
      }
      const files = current.files; // what is sent: the limit and the progress bar count these
      const tooBig = files.find((file) => file.size > maxBytes);
      if (tooBig) throw new Error(tooBig.name + " is larger than " + (maxBytes / 1048576).toFixed(1) + " MB.");
      const total = files.reduce((sum, file) => sum + file.size, 0) || 1;
      const sent = files.map(() => 0);
      const tracker = (index, fraction) => {
        sent[index] = fraction * files[index].size;
        setProgress(sent.reduce((a, b) => a + b, 0) / total);
      };
      const direct = form.dataset.directUploads === "true";
      const ids = current.uploads || (direct ? await uploadDirect(files, tracker) : null);
      let response;
      if (ids) {
        current.uploads = ids; // a retry reuses them: same request, same key
        statusBox.textContent = "Checking images…";
        response = await api("/api/core/orders/", { lines: lines, note: note, uploads: ids }, idempotency);
      } else {
        const data = new FormData();
        data.append("lines", JSON.stringify(lines));
        data.append("note", note);
        files.forEach((file) => data.append("images", file));
        const xhr = await send("POST", "/api/core/orders/", data, (fraction) => setProgress(fraction), {
          "X-CSRFToken": csrfToken(), Accept: "application/json", ...idempotency,
        });
        response = { status: xhr.status, body: JSON.parse(xhr.responseText || "null") };
      }
      if (response.status !== 201) {
        // Refused for good (4xx): a retry needs new input, so the next try is a new
        // submission. Outages (5xx) and a twin still running can be retried as they are.
        const running = response.body && response.body.code === "idempotency_in_progress";
        if (response.status < 500 && !running) submission = null;
        throw new Error(apiMessage(response.body, "The order could not be placed."));
      }
      setProgress(1);
      submission = null;
      showOrder(response.body);
      form.elements.note.value = ""; // placed: the next order starts afresh
      form.elements.images.value = "";
    } catch (error) {
      showError(error.message);
    } finally {
      button.disabled = false;
      busy = false;
    }
  });
})();
