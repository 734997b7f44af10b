"""Bytes in, a safe image out: never touches the database or the store.

``formats`` is the one table of accepted formats and encoder options; ``prepare``
validates an upload and makes the bytes we store (re-encoded, or a lossless JPEG
copy by ``jpeg_segments``); ``decoding`` prices every decode before it runs and
``slots`` bounds how many run at once; ``icc`` rewrites colour profiles;
``renditions`` makes the downscaled WebP copies.
"""
