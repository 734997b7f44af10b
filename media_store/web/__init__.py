"""The HTTP face of media_store, for projects that serve it with Django REST framework.

``urls`` (direct uploads, local private files) -> ``views``; ``parsers`` refuse
oversized bodies early; ``fields`` represent stored images in responses;
``exceptions`` turns media errors into JSON; ``forms`` gives Django forms and the
admin the same validation.
"""
