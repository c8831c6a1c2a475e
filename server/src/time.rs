//! Dates as Node writes them, in UTC: `new Date().toISOString()` (what a `Date` argument
//! becomes in JSON) and `new Date() + ""` (Node's `handshake.time`).

use std::time::SystemTime;

/// The civil date and time of `t`, in UTC.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    weekday: usize,
    hour: u64,
    minute: u64,
    second: u64,
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    millis: u32,
}

fn civil(t: SystemTime) -> Civil {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let days = (secs / 86_400) as i64;
    let of_day = secs % 86_400;
    // Howard Hinnant's days-from-civil, inverted: eras of 400 years from 0000-03-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        // 1970-01-01 was a Thursday.
        weekday: ((days + 4).rem_euclid(7)) as usize,
        hour: of_day / 3600,
        minute: of_day / 60 % 60,
        second: of_day % 60,
        millis: since.subsec_millis(),
    }
}

/// `2026-12-03T10:41:23.123Z`.
#[cfg_attr(not(feature = "admin"), allow(dead_code))]
pub(crate) fn iso_string(t: SystemTime) -> String {
    let c = civil(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.millis
    )
}

/// `Thu Dec 03 2026 10:41:23 GMT+0000 (Coordinated Universal Time)`.
pub(crate) fn node_date_string(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let c = civil(t);
    format!(
        "{} {} {:02} {:04} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[c.weekday],
        MONTHS[(c.month - 1) as usize],
        c.day,
        c.year,
        c.hour,
        c.minute,
        c.second
    )
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
