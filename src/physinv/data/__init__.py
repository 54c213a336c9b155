"""Data: bundled sample images, the benchmark crops, phantoms and image file I/O."""

from physinv.data import images, patches, phantoms
from physinv.data.loading import as_tensor, load_image
from physinv.io import read_image, write_image, write_with_preview

__all__ = ["as_tensor", "images", "load_image", "patches", "phantoms", "read_image",
           "write_image", "write_with_preview"]
