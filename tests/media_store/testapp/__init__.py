"""A stand-in project model with images, proving media_store needs nothing from the shop.

``Attachment`` is the "third model with images": its service is a few lines around
:func:`media_store.uploads.intake.accept_images`, with no copy of the upload rules.
"""
