DROP TABLE books;

DROP TYPE book_status;
