"""The Litestar application: routes, dependencies, error mapping, OpenAPI and request logging."""

from __future__ import annotations

from collections.abc import Sequence

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.types import ControllerRouterHandler

from agentpress import __doc__ as description
from agentpress.api.agents import AgentsController
from agentpress.api.analytics import AnalyticsController
from agentpress.api.api_keys import ApiKeysController
from agentpress.api.auth import AuthController
from agentpress.api.config import ConfigController
from agentpress.api.email_verification import EmailVerificationController
from agentpress.api.embedding_jobs import EmbeddingJobsController
from agentpress.api.health import HealthController
from agentpress.api.kb_search import KnowledgeBaseSearchController
from agentpress.api.knowledge_base_chunks import ChunksCap, KnowledgeBaseChunksController
from agentpress.api.knowledge_bases import KnowledgeBasesController
from agentpress.api.llms import ModelProvidersController, ModelsController
from agentpress.api.message_search import MessageSearchController
from agentpress.api.oauth import OAuthController
from agentpress.api.orgs import InvitationsController, OrgsController
from agentpress.api.personas import PersonasController
from agentpress.api.schedules import SchedulesController
from agentpress.api.tasks import TasksController
from agentpress.api.threads import MessagesController, ThreadsController
from agentpress.api.tools import ToolsController
from agentpress.api.users import UsersController
from agentpress.services.crypto import configure_password_hashing
from agentpress.settings import Settings, load_settings
from agentpress.web.access import provide_caller, provide_current_user, provide_org
from agentpress.web.apidocs import assets_router, swagger_plugin
from agentpress.web.bodies import pydantic_plugins, refuse_nul_in_parameters
from agentpress.web.connections import release_connections
from agentpress.web.dependencies import (
    provide_analytics_connection,
    provide_cache,
    provide_connection,
    provide_db,
    provide_passwords,
    provide_settings,
)
from agentpress.web.dependency_order import resolve_dependencies_in_order
from agentpress.web.errors import EXCEPTION_HANDLERS
from agentpress.web.headers import security_headers_middleware
from agentpress.web.lifespan import lifespan
from agentpress.web.logs import configure_logging, request_logging_middleware
from agentpress.web.metrics import metrics_lifespan
from agentpress.web.openapi import TAGS, ErrorContract, components
from agentpress.web.ratelimits import provide_limits
from agentpress.web.responses import ModelResponse

SCHEMA_PATH = "/schema"

api_v1 = Router(
    path="/api/v1",
    route_handlers=[
        AuthController,
        EmailVerificationController,
        OAuthController,
        OrgsController,
        InvitationsController,
        ApiKeysController,
        UsersController,
        AgentsController,
        PersonasController,
        ToolsController,
        KnowledgeBasesController,
        KnowledgeBaseChunksController,
        KnowledgeBaseSearchController,
        EmbeddingJobsController,
        ModelProvidersController,
        ModelsController,
        MessageSearchController,
        ThreadsController,
        MessagesController,
        TasksController,
        SchedulesController,
        AnalyticsController,
        ConfigController,
    ],
)


def create_app(settings: Settings | None = None, *, route_handlers: Sequence[ControllerRouterHandler] = ()) -> Litestar:
    """Build the service; `route_handlers` adds routes (tests use it for routes of their own)."""
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    configure_password_hashing(settings)
    resolve_dependencies_in_order()
    app = Litestar(
        route_handlers=[HealthController, api_v1, assets_router(SCHEMA_PATH), *route_handlers],
        lifespan=[lifespan, metrics_lifespan],
        state=State({"settings": settings}),
        dependencies={
            "db": Provide(provide_db, sync_to_thread=False),
            "conn": Provide(provide_connection),
            "analytics_conn": Provide(provide_analytics_connection),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "cache": Provide(provide_cache, sync_to_thread=False),
            "passwords": Provide(provide_passwords, sync_to_thread=False),
            "limits": Provide(provide_limits, sync_to_thread=False),
            "current_user": Provide(provide_current_user),
            "org": Provide(provide_org),
            "caller": Provide(provide_caller),
        },
        response_class=ModelResponse,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        middleware=[refuse_nul_in_parameters],
        openapi_config=OpenAPIConfig(
            title="AgentPress data service",
            version="0.1.0",
            description=description,
            path=SCHEMA_PATH,
            # Swagger UI at /schema and /schema/swagger, from a wheel: no CDN, so the docs work offline
            # (web/apidocs.py says why not Scalar).
            render_plugins=[swagger_plugin(SCHEMA_PATH)],
            components=components(),
            tags=list(TAGS),
        ),
        # Logging is configured by configure_logging (JSON lines), not by Litestar.
        logging_config=None,
        # pydantic_plugins: bodies validated as strict JSON, and documented with all of pydantic's rules (its field
        # aliases name JSON keys that are Python keywords: a report's `from`). ErrorContract: every operation's
        # security and error responses, from what its route declares.
        plugins=[*pydantic_plugins(settings), ErrorContract(), ChunksCap(settings.max_chunks_per_request)],
        debug=False,
        # Routes that take more (chunk ingest, config import) say so with request_max_body_size.
        request_max_body_size=settings.max_body_bytes,
    )
    # Around the whole handler rather than as route middleware, so that requests which match no
    # route (404, 405) are logged, counted and given a request id too.
    app.asgi_handler = request_logging_middleware(app.asgi_handler)
    # Likewise outermost, so that errors and unmatched routes carry the security headers too.
    app.asgi_handler = security_headers_middleware(app.asgi_handler, settings)
    # Outermost: whatever the request's dependencies left holding goes back to the pools when it ends.
    app.asgi_handler = release_connections(app.asgi_handler)
    return app


def create_app_from_environment() -> Litestar:
    """The service as `agentpress serve` runs it: uvicorn imports this by name in each worker process it forks
    (an app object cannot cross into a spawned process), and each reads the settings for itself."""
    return create_app(load_settings())
