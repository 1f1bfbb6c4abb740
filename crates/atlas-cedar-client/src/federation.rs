//! Data-federation / online-archive private endpoints (`/groups/{groupId}/privateNetworkSettings/endpointIds`, version 2023-01-01).
