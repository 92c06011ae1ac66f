from django.contrib import admin
from django.urls import path

from delivery import views

urlpatterns = [
    path("", views.index, name="index"),
    path("static/<str:name>", views.static_file, name="static"),
    path("orders", views.place_order, name="place_order"),
    path("admin/", admin.site.urls),
]
