"""seeing: live pix2pix video on ordinary computers (Learning to See, in the browser)."""

__version__ = "0.1.0"
