from django.contrib import admin

from .models import Order


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "dish", "quantity", "status", "mins", "created_at"]
    list_filter = ["status"]
    search_fields = ["customer", "dish"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "kitchen_answer"]
