from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project itself, for what belongs to no app: its deployment checks."""

    name = "config"
    verbose_name = "Project"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
