"""Branchwork's services. None imports another; they share only ``shared`` and event contracts."""
