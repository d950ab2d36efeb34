-- The categories of the holds that name some, one row per hold and
-- category, so that ListHolds selects the holds of a category in SQL.
-- The order of a hold's categories is kept in retention_holds.categories.
CREATE TABLE {{prefix}}retention_hold_cats (
    hold_id  VARBINARY(255) NOT NULL,
    category VARBINARY(255) NOT NULL,
    PRIMARY KEY (hold_id, category)
) ENGINE=InnoDB;
