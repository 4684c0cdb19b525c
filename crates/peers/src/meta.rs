//! Local Meta Marketing API (Insights) peer (placeholder; see issue 5).
