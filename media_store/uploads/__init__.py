"""Taking images from users: purposes, intake, staging, direct uploads, keys and names.

``purposes`` says where an image is stored and who may store it; ``intake`` is the
one entry point (``accept_images``); ``staging`` writes objects before the transaction
that records them and deletes them if it fails; ``direct`` grants and finalizes
uploads sent straight to the bucket; ``keys`` picks object keys; ``names`` cleans
uploaders' file names.
"""
