-- Undo 0009.analytics.sql.

DROP TABLE analytics_daily_tools;
DROP TABLE analytics_daily_users;
DROP TABLE analytics_daily;
DROP TABLE analytics_refreshes;
