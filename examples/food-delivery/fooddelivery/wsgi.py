"""The WSGI application: balrog-wsgi fooddelivery.wsgi:application --ws /ws --ws-key customer"""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fooddelivery.settings")

application = get_wsgi_application()
