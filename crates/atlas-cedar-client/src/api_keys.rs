//! Organization API keys (`/orgs/{orgId}/apiKeys`, version 2023-01-01).
