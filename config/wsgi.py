import gc
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

if settings.USE_S3:
    from media_store.storage.backends import load_store_models

    load_store_models()  # parsed once here, shared by the workers (see below)

# Gunicorn imports this once before forking its workers (--preload, scripts/start.sh):
# what the import made moves out of the collector's reach, so collections in the
# workers do not write to those pages and the workers keep sharing them.
gc.freeze()
