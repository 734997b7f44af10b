from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project itself, for what belongs to no app: deployment checks, throttle counts."""

    name = "config"
    verbose_name = "Project"

    def ready(self) -> None:
        from . import checks, tasks  # noqa: F401  (registers the checks and the periodic task)
