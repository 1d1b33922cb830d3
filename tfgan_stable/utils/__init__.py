"""Small helpers every layer uses: atomic files, image rendering."""
