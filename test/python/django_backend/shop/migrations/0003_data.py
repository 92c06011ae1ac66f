from django.db import migrations


def add_kitchens(apps, schema_editor):
    Kitchen = apps.get_model("shop", "Kitchen")
    Kitchen.objects.bulk_create([Kitchen(name="main", capacity=20), Kitchen(name="annex")])


def remove_kitchens(apps, schema_editor):
    apps.get_model("shop", "Kitchen").objects.filter(name__in=["main", "annex"]).delete()


class Migration(migrations.Migration):

    dependencies = [("shop", "0002_kitchen")]

    operations = [
        migrations.RunPython(add_kitchens, remove_kitchens),
        # Two statements in one string, with a semicolon and a dollar quote inside them.
        migrations.RunSQL(
            sql="""
                CREATE FUNCTION shop_order_total_cents(total numeric) RETURNS bigint
                    LANGUAGE sql IMMUTABLE AS $$ SELECT (total * 100)::bigint; $$;
                COMMENT ON TABLE shop_order IS 'orders; one row each';
            """,
            reverse_sql="""
                DROP FUNCTION shop_order_total_cents(numeric);
                COMMENT ON TABLE shop_order IS NULL;
            """,
        ),
        migrations.RunSQL(
            sql=[("UPDATE shop_kitchen SET capacity = capacity + %s WHERE name = %s",
                  [5, "annex"])],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
