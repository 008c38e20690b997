//! systemd unit files as typed values rendered through `Display`, never string templates.

use std::fmt;

/// One `[Section]` of a unit file, entries in order (a key may repeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    name: &'static str,
    entries: Vec<(&'static str, String)>,
}

impl Section {
    /// An empty section.
    #[must_use]
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            entries: Vec::new(),
        }
    }

    /// Adds `key=value`.
    #[must_use]
    pub fn with(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.entries.push((key, value.into()));
        self
    }
}

/// A unit file: its sections in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFile {
    sections: Vec<Section>,
}

impl UnitFile {
    /// A unit made of `sections`.
    #[must_use]
    pub fn new(sections: Vec<Section>) -> Self {
        Self { sections }
    }

    /// A long-running service: `[Unit]` with `description` and `after`, `[Service]` with
    /// `exec_start` (arguments one per continuation line) restarted always, and `[Install]`
    /// wanted by `multi-user.target`.
    #[must_use]
    pub fn service(description: &str, after: &[&str], exec_start: &[String]) -> Self {
        let mut unit = Section::new("Unit")
            .with("Description", description)
            .with("Documentation", "https://kubernetes.io/docs/");
        for dependency in after {
            unit = unit.with("After", *dependency).with("Wants", *dependency);
        }
        let service = Section::new("Service")
            .with("ExecStart", exec_start.join(" \\\n    "))
            .with("Restart", "always")
            .with("RestartSec", "5s")
            .with("Delegate", "yes")
            .with("KillMode", "process")
            .with("LimitNOFILE", "1048576")
            .with("OOMScoreAdjust", "-999");
        let install = Section::new("Install").with("WantedBy", "multi-user.target");
        Self::new(vec![unit, service, install])
    }
}

impl fmt::Display for UnitFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, section) in self.sections.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            writeln!(f, "[{}]", section.name)?;
            for (key, value) in &section.entries {
                writeln!(f, "{key}={value}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_sections_in_order() {
        let unit = UnitFile::new(vec![
            Section::new("Unit").with("Description", "demo"),
            Section::new("Service").with("ExecStart", "/bin/true"),
        ]);
        assert_eq!(
            unit.to_string(),
            "[Unit]\nDescription=demo\n\n[Service]\nExecStart=/bin/true\n"
        );
    }
}
