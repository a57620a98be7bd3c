CREATE TYPE book_status AS ENUM ('draft', 'published', 'archived');

CREATE TABLE books (
  id bigserial PRIMARY KEY,
  author_id bigint NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
  title text NOT NULL,
  status book_status NOT NULL DEFAULT 'draft',
  published_at timestamptz
);

CREATE INDEX books_author_id_idx ON books (author_id);
