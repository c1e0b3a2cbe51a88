"""Pure numpy image operations: DICOM to array, bit depth and LUTs, resize, flips, contrast."""
