from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("delivery", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="order",
            name="kitchen_answer",
            field=models.JSONField(blank=True, null=True),
        ),
    ]
