"""Root mutations, one module per area; each is a thin call into a domain service."""

import strawberry

from backend.graphql.mutations.accounts import AccountMutations
from backend.graphql.mutations.billing import BillingMutations
from backend.graphql.mutations.goals import GoalMutations
from backend.graphql.mutations.infrastructure import InfrastructureMutations
from backend.graphql.mutations.payments import PaymentMutations
from backend.graphql.mutations.people import PeopleMutations
from backend.graphql.mutations.privacy import PrivacyMutations
from backend.graphql.mutations.stations import StationMutations
from backend.graphql.mutations.tariffs import TariffMutations


@strawberry.type
class Mutation(
    AccountMutations,
    PeopleMutations,
    InfrastructureMutations,
    StationMutations,
    TariffMutations,
    GoalMutations,
    PaymentMutations,
    BillingMutations,
    PrivacyMutations,
):
    pass
