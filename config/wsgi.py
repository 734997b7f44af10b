import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Gunicorn imports this once before forking its workers (--preload, scripts/start.sh):
# what the import made moves out of the collector's reach, so collections in the
# workers do not write to those pages and the workers keep sharing them.
gc.freeze()
