"""The HTTP face of media_store, for projects that serve it with Django REST framework.

``urls`` (direct uploads, local private files) -> ``views``; ``parsers`` refuse
oversized bodies early; ``fields`` represent stored images in responses; ``forms``
gives Django forms and the admin the same validation. Errors are
:class:`media_store.errors.ServiceError`\\ s, which the project's API exception
handler answers (``config.exceptions`` here).
"""
