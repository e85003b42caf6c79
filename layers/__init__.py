"""Layers of a development zone: schemas, CRS, validation, file I/O and the stores."""

import os as _os

# GDAL picks a driver from a file's content, and its VRT driver opens whatever local file
# or URL a VRT names. No layer we read is a VRT, so the driver is switched off before any
# module here imports pyogrio. This must be the environment, not
# pyogrio.set_gdal_config_options: GDAL reads GDAL_SKIP only while registering its
# drivers, which pyogrio does as it is imported, before its config API can be called
# (tests/test_io.py shows it). layers.io refuses to read at all if VRT is still registered.
_skip = [d for d in _os.environ.get("GDAL_SKIP", "").replace(",", " ").split() if d]
_os.environ["GDAL_SKIP"] = " ".join(dict.fromkeys([*_skip, "OGR_VRT", "VRT"]))
