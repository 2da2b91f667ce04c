"""The schema: queries, mutations, and the extensions every operation passes through."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry import Schema
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from backend.domain.errors import DomainError
from backend.graphql.billing_queries import BillingQueries
from backend.graphql.mutations import Mutation
from backend.graphql.policy import FieldPolicy
from backend.graphql.privacy_queries import PrivacyQueries
from backend.graphql.queries import Query
from backend.graphql.station_queries import StationAdminQueries
from backend.graphql.statistics_queries import StatisticsQueries
from backend.graphql.subscriptions import Subscription
from backend.graphql.system_log_queries import SystemLogQueries
from backend.graphql.types.payments import PaymentQueries
from backend.graphql.types.statistics import LONG_SCALAR, Long
from backend.settings import Settings

log = logging.getLogger("vev_iq.graphql")


def _should_mask(error: GraphQLError) -> bool:
    # Syntax, validation and our own domain errors are meant for the caller; anything else is a
    # bug whose details (SQL, paths, values) must not reach the client.
    original = error.original_error
    return original is not None and not isinstance(original, DomainError | GraphQLError)


class VevSchema(Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Callers' mistakes are answered, not logged as our errors; bugs are logged in full.
        for error in errors:
            original = error.original_error
            if isinstance(original, DomainError) or (original is None):
                continue
            log.error("unexpected error in GraphQL operation", exc_info=original)


def build_schema(settings: Settings) -> Schema:
    return VevSchema(
        query=merge_types(
            "Query",
            (
                Query,
                StationAdminQueries,
                PaymentQueries,
                BillingQueries,
                PrivacyQueries,
                StatisticsQueries,
                SystemLogQueries,
            ),
        ),
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map={Long: LONG_SCALAR}),
        extensions=[
            lambda: QueryDepthLimiter(max_depth=settings.graphql_max_depth),
            lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
            lambda: MaxAliasesLimiter(max_alias_count=30),
            FieldPolicy,
            lambda: MaskErrors(
                should_mask_error=_should_mask,
                error_message="Something went wrong on our side. It has been logged.",
            ),
        ],
    )
