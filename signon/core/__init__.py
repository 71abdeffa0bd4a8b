"""What every feature shares: permissions, forms, transaction, mail, markdown, errors."""
