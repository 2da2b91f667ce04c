"""The GraphQL API (Strawberry): one schema for the web app, the mobile app and admins."""
