from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("customer", models.CharField(db_index=True, max_length=64)),
                ("dish", models.CharField(max_length=100)),
                ("quantity", models.PositiveIntegerField(default=1)),
                ("address", models.CharField(blank=True, max_length=200)),
                ("status", models.CharField(choices=[("placed", "placed"),
                                                     ("accepted", "accepted"),
                                                     ("kitchen_error", "kitchen error")],
                                            default="placed", max_length=20)),
                ("mins", models.PositiveIntegerField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]
