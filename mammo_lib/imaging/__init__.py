"""Every pixel read and converted: :func:`mammo_lib.imaging.read.read_scan` is the one entry.

``read`` (the entry and :class:`~mammo_lib.imaging.read.Scan`), ``dicom``, ``ljpeg`` and
``pgm`` (the decoders), ``intensity`` (bit depth, DDSM optical density, resize, flips, resampling),
``spectrum`` (power spectra and tissue masks), ``errors`` (:class:`ImageReadError`).
"""
