//! The human-readable plan: one block per changing resource, field by field.
//!
//! ```text
//! + create Vpc/dev.example.com
//!     cidr: 10.0.0.0/16
//! ~ update LaunchTemplate/nodes.dev.example.com
//!     instance_type: t3.medium → t3.large
//!     user_data:
//!       @@ -1,2 +1,2 @@
//!       -old line
//!       +new line
//! ! replace Subnet/a.dev.example.com (cidr cannot change in place)
//!
//! Plan: 1 to create, 1 to update, 1 to replace, 12 unchanged.
//! ```
//!
//! Documents (policies, user data) are unified diffs, so a one-line change in a long
//! document reads as one line (kubernetes/kops#973). Secret fields print `<redacted>`.
//! Unchanged resources are only counted. Plain text, no colour: the CLI may add some.

use std::fmt::Write as _;

use similar::TextDiff;

use super::{Action, Change, FieldChange, Plan, PlanSummary};

/// Lines of context around each change in a document diff.
const DOCUMENT_CONTEXT_LINES: usize = 3;

/// Indentation of a field line under its resource.
const FIELD_INDENT: &str = "    ";

/// Indentation of a document diff under its field.
const DOCUMENT_INDENT: &str = "      ";

/// Renders `plan` for people: "No changes." when there are none.
#[must_use]
pub fn render_preview(plan: &Plan) -> String {
    let summary = plan.summary();
    if !plan.has_changes() {
        return format!(
            "No changes. {} resources are up to date.\n",
            summary.unchanged
        );
    }
    let mut text = String::new();
    for change in plan.changed() {
        render_change(&mut text, change);
    }
    text.push('\n');
    text.push_str(&render_summary(&summary));
    text
}

/// `Plan: 2 to create, 0 to update, 0 to replace, 14 unchanged.`
#[must_use]
pub fn render_summary(summary: &PlanSummary) -> String {
    let conflicts = if summary.conflict == 0 {
        String::new()
    } else {
        format!(", {} in conflict", summary.conflict)
    };
    format!(
        "Plan: {} to create, {} to update, {} to replace, {} unchanged{conflicts}.\n",
        summary.create, summary.update, summary.replace, summary.unchanged
    )
}

/// One resource's block.
fn render_change(text: &mut String, change: &Change) {
    let _ = match &change.action {
        Action::Create => writeln!(text, "+ create {}", change.key),
        Action::Update => writeln!(text, "~ update {}", change.key),
        Action::Replace { reason } => writeln!(text, "! replace {} ({reason})", change.key),
        Action::Conflict { reason } => writeln!(text, "! conflict {} ({reason})", change.key),
        Action::Unchanged => return,
    };
    let creating = change.action == Action::Create;
    for field in &change.fields {
        render_field(text, field, creating);
    }
}

fn render_field(text: &mut String, field: &FieldChange, creating: bool) {
    let name = &field.field;
    if field.secret {
        let _ = writeln!(text, "{FIELD_INDENT}{name}: <redacted>");
    } else if field.document {
        let _ = writeln!(text, "{FIELD_INDENT}{name}:");
        let old = if creating { "" } else { field.old.as_str() };
        render_document_diff(text, old, &field.new);
    } else if creating || field.old.is_empty() && field.new.is_empty() {
        let _ = writeln!(text, "{FIELD_INDENT}{name}: {}", field.new);
    } else {
        let old = if field.old.is_empty() {
            "(none)"
        } else {
            field.old.as_str()
        };
        let new = if field.new.is_empty() {
            "(none)"
        } else {
            field.new.as_str()
        };
        let _ = writeln!(text, "{FIELD_INDENT}{name}: {old} → {new}");
    }
}

fn render_document_diff(text: &mut String, old: &str, new: &str) {
    let diff = TextDiff::from_lines(old, new);
    let unified = diff
        .unified_diff()
        .context_radius(DOCUMENT_CONTEXT_LINES)
        .to_string();
    for line in unified.lines() {
        let _ = writeln!(text, "{DOCUMENT_INDENT}{line}");
    }
}

#[cfg(test)]
mod tests {
    use berth_model::aws::{NodeKey, ResourceKind};

    use super::*;

    fn change(action: Action, fields: Vec<FieldChange>) -> Change {
        Change {
            key: NodeKey::new(ResourceKind::LaunchTemplate, "nodes.dev.example.com"),
            action,
            fields,
        }
    }

    #[test]
    fn an_update_shows_fields_documents_as_diffs_and_hides_secrets() {
        let mut text = String::new();
        render_change(
            &mut text,
            &change(
                Action::Update,
                vec![
                    FieldChange::new("instance_type", "t3.medium", "t3.large"),
                    FieldChange::document("user_data", "a\nb\nc\n", "a\nB\nc\n"),
                    FieldChange::secret("ssh_key"),
                ],
            ),
        );
        insta::assert_snapshot!(text, @r"
        ~ update LaunchTemplate/nodes.dev.example.com
            instance_type: t3.medium → t3.large
            user_data:
              @@ -1,3 +1,3 @@
               a
              -b
              +B
               c
            ssh_key: <redacted>
        ");
    }

    #[test]
    fn a_creation_lists_the_new_values_and_a_replacement_its_reason() {
        let mut text = String::new();
        render_change(
            &mut text,
            &change(
                Action::Create,
                vec![FieldChange::new("cidr", "", "10.0.0.0/16")],
            ),
        );
        render_change(
            &mut text,
            &change(
                Action::Replace {
                    reason: "image cannot change in place".into(),
                },
                Vec::new(),
            ),
        );
        insta::assert_snapshot!(text, @r"
        + create LaunchTemplate/nodes.dev.example.com
            cidr: 10.0.0.0/16
        ! replace LaunchTemplate/nodes.dev.example.com (image cannot change in place)
        ");
    }
}
