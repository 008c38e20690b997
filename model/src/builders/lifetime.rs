//! `maxInstanceLifetime`: a Go duration (`168h`, `1h30m`, `90s`) as whole seconds for the
//! autoscaling API.

use super::BuildError;

/// Seconds in `text`, a sequence of `<integer><unit>` with units `h`, `m` and `s`.
pub(crate) fn seconds(text: &str, field: &str) -> Result<i32, BuildError> {
    let invalid = |problem: &str| BuildError::InvalidField {
        field: field.to_owned(),
        problem: format!("`{text}` {problem}"),
    };
    let mut total: u64 = 0;
    let mut digits = String::new();
    for character in text.chars() {
        if character.is_ascii_digit() {
            digits.push(character);
            continue;
        }
        let unit: u64 = match character {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(invalid("is not a duration such as `168h` (units: h, m, s)")),
        };
        let value: u64 = digits
            .parse()
            .map_err(|_| invalid("is not a duration such as `168h`"))?;
        digits.clear();
        total = value
            .checked_mul(unit)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| invalid("is too long"))?;
    }
    if !digits.is_empty() || text.is_empty() {
        return Err(invalid(
            "is not a duration such as `168h` (a unit is missing)",
        ));
    }
    i32::try_from(total).map_err(|_| invalid("is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations_and_names_the_field_when_it_cannot() {
        assert_eq!(seconds("168h", "f").unwrap(), 604_800);
        assert_eq!(seconds("1h30m15s", "f").unwrap(), 5415);
        for bad in ["", "10", "1d", "h"] {
            let error = seconds(bad, "spec.maxInstanceLifetime").unwrap_err();
            assert!(
                error.to_string().contains("spec.maxInstanceLifetime"),
                "{error}"
            );
        }
    }
}
