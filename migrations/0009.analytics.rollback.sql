-- Undo 0009.analytics.sql.

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

DROP TABLE analytics_daily_tools;
DROP TABLE analytics_daily_users;
DROP TABLE analytics_daily;
DROP TABLE analytics_refreshes;
