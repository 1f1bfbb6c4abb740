//! Private endpoint services and their endpoints (`/groups/{groupId}/privateEndpoint/…`, version 2023-01-01).
