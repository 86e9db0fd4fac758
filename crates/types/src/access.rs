//! Who may do what in a workspace: a member's [`Role`] and the [`Permission`]s it grants.
//!
//! A dashboard session acts with its member's role; an API token acts with its scopes, cut
//! down to what its creator's role still grants, so demoting a member demotes their tokens.

use crate::text_enum;

text_enum! {
    /// A member's role in a workspace (`workspace_memberships.role`).
    pub enum Role {
        /// Everything, including members and the workspace itself.
        Owner = "owner",
        /// Everything an owner may do except deleting the workspace.
        Admin = "admin",
        /// Submits, cancels and deletes runs; creates and revokes tokens.
        Member = "member",
        /// Reads runs, events and outputs only.
        Viewer = "viewer",
    }
}

text_enum! {
    /// A permission, and the API token scope that carries it.
    pub enum Permission {
        /// Read runs, events and outputs.
        RunsRead = "runs:read",
        /// Submit, cancel and delete runs; create signed links.
        RunsWrite = "runs:write",
        /// Create, list and revoke API tokens.
        TokensManage = "tokens:manage",
    }
}

impl Role {
    /// Whether this role grants `permission`.
    pub fn grants(self, permission: Permission) -> bool {
        match self {
            Self::Owner | Self::Admin | Self::Member => true,
            Self::Viewer => permission == Permission::RunsRead,
        }
    }

    /// Whether this role manages the workspace's members.
    pub fn manages_members(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }

    /// Every permission the role grants.
    pub fn permissions(self) -> Vec<Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(|p| self.grants(*p))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewer_only_reads_and_everyone_else_writes() {
        assert_eq!(Role::Viewer.permissions(), vec![Permission::RunsRead]);
        for role in [Role::Owner, Role::Admin, Role::Member] {
            assert_eq!(role.permissions(), Permission::ALL.to_vec(), "{role}");
        }
        assert!(Role::Admin.manages_members() && !Role::Member.manages_members());
    }
}
