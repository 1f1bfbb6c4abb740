//! Stream processors (`/groups/{groupId}/streams/{tenantName}/processor…`, version 2024-05-30).
