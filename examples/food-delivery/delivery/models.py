from django.db import models


class Order(models.Model):
    PLACED = "placed"
    ACCEPTED = "accepted"
    KITCHEN_ERROR = "kitchen_error"
    STATUSES = [(PLACED, "placed"), (ACCEPTED, "accepted"), (KITCHEN_ERROR, "kitchen error")]

    customer = models.CharField(max_length=64, db_index=True)
    dish = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField(default=1)
    address = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=STATUSES, default=PLACED)
    mins = models.PositiveIntegerField(null=True, blank=True)  # the kitchen's estimate
    # What the kitchen answered (its JSON, or the error's text): kept for the admin.
    kitchen_answer = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Order #{self.pk}: {self.quantity} x {self.dish} for {self.customer}"
