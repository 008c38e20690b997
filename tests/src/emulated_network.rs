//! A VPC, subnets and an image in the AWS emulator for tests that set up the cloud
//! themselves (a shared VPC, foreign resources, instances Berth did not launch).

/// Creates a VPC with `cidr`; returns its id.
///
/// # Panics
/// When the emulator refuses.
pub async fn create_vpc(ec2: &aws_sdk_ec2::Client, cidr: &str) -> String {
    ec2.create_vpc()
        .cidr_block(cidr)
        .send()
        .await
        .expect("CreateVpc")
        .vpc()
        .and_then(|vpc| vpc.vpc_id())
        .expect("a VPC id")
        .to_owned()
}

/// Creates a subnet of `vpc_id` with `cidr` in `zone`; returns its id.
///
/// # Panics
/// When the emulator refuses.
pub async fn create_subnet(
    ec2: &aws_sdk_ec2::Client,
    vpc_id: &str,
    cidr: &str,
    zone: &str,
) -> String {
    ec2.create_subnet()
        .vpc_id(vpc_id)
        .cidr_block(cidr)
        .availability_zone(zone)
        .send()
        .await
        .expect("CreateSubnet")
        .subnet()
        .and_then(|subnet| subnet.subnet_id())
        .expect("a subnet id")
        .to_owned()
}

/// The id of an Ubuntu image from the emulator's catalogue (owner Canonical).
///
/// # Panics
/// When the catalogue holds none.
pub async fn ubuntu_image(ec2: &aws_sdk_ec2::Client) -> String {
    ec2.describe_images()
        .owners("099720109477")
        .send()
        .await
        .expect("DescribeImages")
        .images()
        .first()
        .and_then(|image| image.image_id())
        .expect("an Ubuntu image in the catalogue")
        .to_owned()
}
