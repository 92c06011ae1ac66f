"""What the kitchen is told about an order."""


def prepare_order(order):
    return {
        "order": order.pk,
        "dish": order.dish,
        "quantity": order.quantity,
        "address": order.address,
        "placed_at": order.created_at.isoformat(),
    }
