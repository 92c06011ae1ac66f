"""Django database backends on balrog (see balrog.django)."""
