//! Dates as Node writes them, in UTC: `new Date().toISOString()` (what a `Date` argument
//! becomes in JSON, sio-protocol's `iso_date`) and `new Date() + ""` (Node's
//! `handshake.time`).

use std::time::SystemTime;

/// Milliseconds since the epoch, as a JavaScript `Date` holds them.
fn millis(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64)
}

/// `2026-12-03T10:41:23.123Z`.
#[cfg_attr(not(feature = "admin"), allow(dead_code))]
pub(crate) fn iso_string(t: SystemTime) -> String {
    sio_protocol::msgpack::iso_date(millis(t)).unwrap_or_default()
}

/// `Thu Dec 03 2026 10:41:23 GMT+0000 (Coordinated Universal Time)`: the fields of
/// [`iso_string`] in Node's order, and the weekday.
pub(crate) fn node_date_string(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let ms = millis(t);
    let iso = sio_protocol::msgpack::iso_date(ms).unwrap_or_default();
    // `YYYY-MM-DDTHH:MM:SS.mmmZ`, four-digit years (any time since 1970 until 9999).
    let (Some(year), Some(month), Some(day), Some(clock)) = (
        iso.get(0..4),
        iso.get(5..7),
        iso.get(8..10),
        iso.get(11..19),
    ) else {
        return String::new();
    };
    let month = month
        .parse::<usize>()
        .map_or("", |m| MONTHS.get(m.wrapping_sub(1)).copied().unwrap_or(""));
    // 1970-01-01 was a Thursday.
    let weekday = DAYS[((ms / 86_400_000.0).floor() as u64 + 4) as usize % 7];
    format!("{weekday} {month} {day} {year} {clock} GMT+0000 (Coordinated Universal Time)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn dates_read_as_node_writes_them() {
        // Values from Node: new Date(ms).toISOString() and String(new Date(ms)) with TZ=UTC.
        assert_eq!(iso_string(at(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso_string(at(1_796_294_483_123)),
            "2026-12-03T10:41:23.123Z"
        );
        assert_eq!(iso_string(at(951_782_400_000)), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            node_date_string(at(1_796_294_483_123)),
            "Thu Dec 03 2026 10:41:23 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            node_date_string(at(0)),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
    }
}
