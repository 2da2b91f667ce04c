"""GraphQL object types. Resolvers return ORM rows; these types describe what is exposed."""
