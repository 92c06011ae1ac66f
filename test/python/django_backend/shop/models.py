import uuid

from django.db import models
from django.utils import timezone


class Customer(models.Model):
    name = models.CharField(max_length=100, unique=True)
    email = models.EmailField(blank=True)
    joined = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)

    def __str__(self):
        return self.name


class Kitchen(models.Model):
    name = models.CharField(max_length=50, unique=True)
    capacity = models.IntegerField(default=10)

    def __str__(self):
        return self.name


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    items = models.JSONField(default=dict, blank=True)
    total = models.DecimalField(max_digits=10, decimal_places=2)
    placed_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, default="new")
    uid = models.UUIDField(default=uuid.uuid4)
    kitchen = models.ForeignKey(Kitchen, null=True, blank=True, on_delete=models.SET_NULL)
    priority = models.IntegerField(default=3)
    note = models.TextField(default="it's 100% fresh")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status"], name="order_open_status",
                                condition=models.Q(status__in=["new", "cooking"]))]

    def __str__(self):
        return f"Order #{self.pk} of {self.customer_id}"
