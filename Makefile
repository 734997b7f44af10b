# Everything a fresh machine needs is installed by these targets.
#   make run      serve on SQLite + local disk (development)
#   make run-s3   serve with USE_S3=True against a local Ceph S3 gateway
#   make test     lint, check requirements.txt, run the whole suite (real Ceph S3)
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen
PORT ?= 8000
CEPH := scripts/ceph_s3.sh
DEV_ENV := DEBUG=True

.PHONY: uv install run run-s3 s3-up s3-down test fuzz lint format requirements check-requirements migrate system-packages bench

uv:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
	  || $(PYTHON) -m pip install --quiet --user --break-system-packages uv

install: uv
	$(UV) sync --frozen

migrate: install
	$(DEV_ENV) $(RUN) python manage.py migrate --noinput

# The development server and a background worker beside it (Ctrl+C stops both).
run: migrate
	$(DEV_ENV) $(RUN) scripts/dev_server.sh $(PORT)

s3-up:
	$(CEPH) up

s3-down:
	$(CEPH) stop

# Local Ceph gateway on 127.0.0.1:7480, bucket "shop-dev", and a database of its own
# (db-s3.sqlite3): rows of `make run` point at local files, these at the bucket.
S3_DEV_ENV := $(DEV_ENV) USE_S3=True AWS_STORAGE_BUCKET_NAME=shop-dev AWS_S3_PROVIDER=ceph \
  DATABASE_URL=sqlite:///db-s3.sqlite3 \
  AWS_S3_ENDPOINT_URL=http://127.0.0.1:7480 AWS_ACCESS_KEY_ID=shoptestaccesskey \
  AWS_SECRET_ACCESS_KEY=shoptestsecretkey0000000000000000000000 \
  STATIC_ON_S3=False CORS_ALLOWED_ORIGINS=http://127.0.0.1:$(PORT),http://localhost:$(PORT)

run-s3: install s3-up
	$(S3_DEV_ENV) $(RUN) python manage.py configure_bucket --create
	$(S3_DEV_ENV) $(RUN) python manage.py migrate --noinput
	$(S3_DEV_ENV) $(RUN) scripts/dev_server.sh $(PORT)

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .

format: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

requirements: install
	$(UV) export --frozen --no-dev --no-emit-project --quiet -o requirements.txt

check-requirements: install
	$(UV) lock --check

system-packages:
	$(CEPH) install
	scripts/install_chromium.sh
	command -v shellcheck >/dev/null || scripts/apt_install.sh shellcheck

test: install lint check-requirements system-packages
	$(RUN) pytest

# Thousands of mutated images through the whole pipeline, fresh randomness each run
# (make test runs a few hundred, reproducibly).
fuzz: install
	$(RUN) pytest tests/media_store/imaging/test_fuzz.py --hypothesis-profile=fuzz --hypothesis-show-statistics

# Benchmarks (not tests): each starts its own Ceph gateway and prints a Markdown table.
bench: install system-packages
	$(RUN) python bench/bench_upload.py
	$(RUN) python bench/bench_memory.py
	$(RUN) python bench/bench_renditions.py
	$(RUN) python bench/bench_tasks.py
	$(RUN) python bench/bench_throttle.py
	$(RUN) python bench/bench_bombs.py
	$(RUN) python bench/bench_storefront.py
	$(RUN) python bench/bench_concurrency.py --baseline-ref 3ac7a75
