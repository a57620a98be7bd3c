CREATE TABLE authors (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX authors_email_key ON authors (lower(email));
