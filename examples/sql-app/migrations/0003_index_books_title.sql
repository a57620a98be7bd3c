-- CREATE INDEX CONCURRENTLY cannot run inside a transaction: migrate runs this file statement by statement.
CREATE INDEX CONCURRENTLY books_title_idx ON books (title);
